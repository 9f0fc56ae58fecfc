"""Roles and organisation kinds, and what each role may do (pure)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    cs_manager = "cs_manager"
    cs_assistant = "cs_assistant"
    engineer = "engineer"
    developer_rep = "developer_rep"
    contractor = "contractor"


class OrgKind(StrEnum):
    property_company = "property_company"
    developer = "developer"
    contractor = "contractor"


#: Roles of the property company's own staff.
STAFF_ROLES = frozenset({Role.admin, Role.cs_manager, Role.cs_assistant, Role.engineer})
#: Roles that may see owners' names and phone numbers (personal data).
PERSONAL_DATA_ROLES = STAFF_ROLES
#: Roles that manage places, members and imports of a project.
MANAGER_ROLES = frozenset({Role.admin, Role.cs_manager})
#: Which roles a user of each kind of organisation may hold.
ROLES_BY_ORG_KIND = {
    OrgKind.property_company: STAFF_ROLES,
    OrgKind.developer: frozenset({Role.developer_rep}),
    OrgKind.contractor: frozenset({Role.contractor}),
}
