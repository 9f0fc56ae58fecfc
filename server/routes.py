"""Every feature's route handlers, in one list the app mounts. A new feature adds
its controllers here (one line)."""

from __future__ import annotations

from typing import Any

from server.accounts.controllers import AuthController, UserController
from server.audit.controllers import AuditController
from server.health import health
from server.inspections.controllers import InspectionController
from server.jobs.controllers import JobController
from server.media.controllers import PhotoController
from server.places.controllers import (
    AreaController,
    BuildingController,
    FacilityController,
    ProjectController,
    UnitController,
)
from server.places.roster_controllers import RosterController
from server.qr.controllers import LabelSheetController, ScanController, pwa_placeholder
from server.syncing.controllers import SyncController
from server.templates.controllers import TemplateController

ROUTES: list[Any] = [
    health,
    AuthController,
    UserController,
    ProjectController,
    BuildingController,
    UnitController,
    AreaController,
    FacilityController,
    RosterController,
    AuditController,
    SyncController,
    InspectionController,
    PhotoController,
    JobController,
    ScanController,
    LabelSheetController,
    pwa_placeholder,
    TemplateController,
]
