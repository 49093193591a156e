"""The app's pages, which of them each role is offered, and what the root URL and unknown URLs show.

Every page is registered with ``st.navigation`` for every user, logged in or not, with Streamlit's own menu
hidden; the sidebar links are drawn here from ``ROLE_PAGES``. So any URL that names a page opens that page,
whose own ``require_role`` check then shows it or says "not available for your role" (access is decided by the
page file and ``db/permissions.py``, never by which links are drawn); a deep link survives the login form; and
a URL that names no page falls back to the start page, which says so instead of silently showing another page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlparse

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from components.auth import require_role
from components.forms import escape_markdown
from db.permissions import Actor


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to app.py
    title: str
    icon: str
    url_path: str


START_PAGE: Final = PageSpec("pages/shell/start.py", "Start", ":material/home:", "start")
PAGES: Final[dict[str, PageSpec]] = {
    "caseload": PageSpec("pages/prescriber/caseload.py", "Caseload", ":material/groups:", "caseload"),
    "refills": PageSpec("pages/prescriber/refills.py", "Refill requests", ":material/medication:", "refills"),
    "chart": PageSpec("pages/clinical/patient_chart.py", "Patient chart", ":material/monitoring:", "chart"),
    "triage": PageSpec("pages/nurse/triage.py", "Triage queue", ":material/flag:", "triage"),
    "labs": PageSpec("pages/nurse/labs.py", "Labs", ":material/science:", "labs"),
    "fhir_import": PageSpec(
        "pages/nurse/fhir_import.py", "Import self-reports", ":material/upload_file:", "fhir-import"
    ),
    "overview": PageSpec("pages/supervisor/overview.py", "Program overview", ":material/dashboard:", "overview"),
    "audit": PageSpec("pages/supervisor/audit_trail.py", "Audit trail", ":material/manage_search:", "audit"),
    "reassign": PageSpec("pages/supervisor/reassign.py", "Reassign patients", ":material/swap_horiz:", "reassign"),
    "users": PageSpec("pages/admin/users.py", "Users", ":material/admin_panel_settings:", "users"),
}
# The links each role is offered, in sidebar order; the first is the role's landing page (where "/" leads).
# Each page file checks the role itself; tests/app/test_login_navigation.py keeps the two in agreement.
ROLE_PAGES: Final[dict[str, tuple[str, ...]]] = {
    "prescriber": ("caseload", "chart", "refills", "labs"),
    "nurse": ("triage", "refills", "labs", "chart", "fhir_import"),
    "supervisor": ("overview", "caseload", "chart", "reassign", "audit"),
    "admin": ("users", "audit", "fhir_import"),
}
MISSING_PAGE_KEY = "_requested_missing_page"
MAX_SHOWN_PATH = 200


def _page(spec: PageSpec, *, default: bool = False) -> StreamlitPage:
    return st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=default)


def register_pages() -> StreamlitPage:
    """Register every page (menu hidden) and return the one the URL asks for, or the start page.

    Called on every run before the login check, so the requested page is remembered across the login form.
    When the URL names no page, Streamlit falls back to the start page (and shows its own "Page not found"
    notice); the path asked for is kept in the session so the start page can name it after a login.
    """
    start = _page(START_PAGE, default=True)
    pages = [start, *(_page(spec) for spec in PAGES.values())]
    current = st.navigation(pages, position="hidden")
    if current.url_path == start.url_path:  # the default page's url_path is "" (the root)
        missing = _requested_path()
        if missing:
            st.session_state[MISSING_PAGE_KEY] = missing
    else:
        st.session_state.pop(MISSING_PAGE_KEY, None)
    return current


def _requested_path() -> str:
    """The path the browser asked for, relative to the app's root; "" for the root itself.

    ``st.context.url`` is the browser's URL with a known page's url path at its end replaced by the running
    page's; on the start page (url path "") that leaves the requested path as the browser sent it.
    """
    url = st.context.url
    if not url:
        return ""
    path = urlparse(url).path.strip("/")
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    if base and (path == base or path.startswith(f"{base}/")):
        path = path[len(base) :].strip("/")
    return path


def sidebar_links(actor: Actor) -> None:
    """The role's pages as sidebar links (Streamlit's own menu is hidden: it would list every page)."""
    for name in ROLE_PAGES.get(actor.role, ()):
        spec = PAGES[name]
        st.sidebar.page_link(spec.path, label=spec.title, icon=spec.icon)


def landing_page(actor: Actor) -> PageSpec | None:
    names = ROLE_PAGES.get(actor.role, ())
    return PAGES[names[0]] if names else None


def render_start_page() -> None:
    """The root URL: go to the role's landing page, or say that the requested page does not exist."""
    actor = require_role(*ROLE_PAGES)
    missing = st.session_state.get(MISSING_PAGE_KEY)
    landing = landing_page(actor)
    if missing:
        st.title("Page not found")
        # The path comes from the address bar: shown literally, and not at any length.
        st.error(f"No page at /{escape_markdown(missing[:MAX_SHOWN_PATH])}.")
        if landing is not None:
            st.page_link(landing.path, label=f"Go to {landing.title}", icon=landing.icon)
        return
    if landing is None:
        st.error("Your account has no pages. Contact an administrator.")
        return
    st.switch_page(landing.path)
