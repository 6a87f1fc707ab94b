"""Automatic remediation of risky changes seen in ActionTrail events (the ``remediate`` function).

``rules`` are the rules and their decisions (``selfguard`` one of them,
``quarantine`` the trust-policy swap), ``settings`` the environment, ``engine``
one invocation. The events are read through :mod:`shared.events.actiontrail`;
the rules act through the RAM and ECS seams, :mod:`shared.ram` and
:mod:`shared.ecs`.
"""
