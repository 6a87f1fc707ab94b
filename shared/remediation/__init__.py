"""Automatic remediation of risky changes seen in ActionTrail events (the ``remediate`` function).

``events`` is the typed view of what EventBridge delivers, ``rules`` the rules
and their decisions, ``settings`` the environment, ``engine`` one invocation;
``instances`` (ECS instance roles) and ``quarantine`` (trust-policy swap) are
the two seams the rules act through besides :mod:`shared.ram`.
"""
