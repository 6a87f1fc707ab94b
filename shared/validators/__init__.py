"""Request schemas compiled into plain Python: written into each built package by ``rolegate package``.

Each module's ``validate(body)`` raises on the first problem; ``shared.schema``
uses it to accept a valid body without importing ``jsonschema``. A checkout
holds none (``.gitignore``): :func:`shared.schema.compiled_for` compiles them.
"""
