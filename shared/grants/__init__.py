"""What a grant is and how it lives on RAM: ``model``, ``naming``, ``tags``, ``proof``, ``lifecycle``.

The package re-exports nothing, so importing one module loads only what that module needs.
"""
