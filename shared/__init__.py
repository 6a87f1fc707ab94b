"""Rolegate's shared core: credentials, clients, policies and the grant lifecycle.

Every function handler is a thin adapter over this package. The pure parts
(``shared.policies``, ``shared.events``, ``shared.grants.model``,
``shared.grants.tags``) import no SDK and do no I/O, so they are cheap to
import and test. Each cloud product is called from one seam: ``shared.ram``,
``shared.sts``, ``shared.kms``, ``shared.ecs``, ``shared.fc``.
"""

from shared import standins as _standins

_standins.install()  # stand-ins only for modules a function's package leaves out; see shared.standins
