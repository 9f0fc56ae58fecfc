"""Who is calling: the authenticated user as the services see it (pure value)."""

from __future__ import annotations

import uuid

import msgspec

from server.accounts.roles import MANAGER_ROLES, PERSONAL_DATA_ROLES, STAFF_ROLES, Role
from server.lib.errors import Forbidden, NotFound


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    username: str
    role: Role
    org_id: uuid.UUID
    org_kind: str
    company_id: uuid.UUID
    device_id: str
    session_id: uuid.UUID | None = None
    project_ids: frozenset[uuid.UUID] = frozenset()

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def sees_personal_data(self) -> bool:
        return self.role in PERSONAL_DATA_ROLES

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGER_ROLES

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden(
                f"role {self.role.value} may not do this; needs one of: " + ", ".join(sorted(r.value for r in roles))
            )

    def require_project(self, project_id: uuid.UUID) -> None:
        """A project outside the caller's scope is answered as not found (no probing)."""
        if project_id not in self.project_ids:
            raise NotFound("project not found")

    def require_manager_of(self, project_id: uuid.UUID) -> None:
        self.require_project(project_id)
        self.require_role(*MANAGER_ROLES)
