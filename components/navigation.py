"""The app's pages, which of them each role is offered, and what the root URL and unknown URLs show.

Every page is registered with ``st.navigation`` for every user, logged in or not, with Streamlit's own menu
hidden; the sidebar links are drawn here from ``ROLE_PAGES``. So any URL that names a page opens that page,
whose own ``require_role`` check then shows it or says "not available for your role" (access is decided by the
page file and ``db/permissions.py``, never by which links are drawn), and a deep link survives the login form.

The root URL runs the role's landing page itself, registered a second time as the default page (Streamlit
gives the default page the root URL, so its own address, e.g. ``/triage``, stays a normal page). Streamlit
also falls back to the default page for a URL that names no page; that case is told apart by the URL, and
the user is told "No page at /…" instead of silently getting the landing page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlparse

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from components.forms import escape_markdown
from db.permissions import Actor


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to app.py
    title: str
    icon: str
    url_path: str


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
    "approvals": PageSpec("pages/supervisor/approvals.py", "Account approvals", ":material/how_to_reg:", "approvals"),
    "password": PageSpec("pages/account/password.py", "Change password", ":material/password:", "password"),
    "two_factor": PageSpec("pages/account/two_factor.py", "Two-factor authentication", ":material/key:", "two-factor"),
}
# The links each role is offered, in sidebar order; the first is the role's landing page (what "/" shows).
# Each page file checks the role itself; tests/app/test_login_navigation.py keeps the two in agreement.
ROLE_PAGES: Final[dict[str, tuple[str, ...]]] = {
    "prescriber": ("caseload", "chart", "refills", "labs", "password", "two_factor"),
    "nurse": ("triage", "refills", "labs", "chart", "fhir_import", "password", "two_factor"),
    "supervisor": ("overview", "caseload", "chart", "reassign", "audit", "approvals", "password", "two_factor"),
    "admin": ("users", "audit", "fhir_import", "password", "two_factor"),
}
# The url paths of the two default pages. A default page is served at "/", so these never appear in a link.
HOME_URL_PATH: Final = "home"
LOGIN_URL_PATH: Final = "login"
MISSING_PAGE_KEY: Final = "_requested_missing_page"
MAX_SHOWN_PATH: Final = 200


@dataclass(frozen=True)
class Navigation:
    current: StreamlitPage  # the page the URL asks for, or the default page
    pages: dict[str, StreamlitPage]  # by the names in PAGES
    landing: str | None  # the actor's landing page (a name in PAGES), None when logged out or without pages

    @property
    def is_default(self) -> bool:
        return self.current.url_path == ""  # Streamlit serves the default page, and only it, at the root


def _logged_out_default() -> None:
    """Never shown: logged out, app.py stops at the login form before any page runs."""
    st.stop()


def register_pages(actor: Actor | None) -> Navigation:
    """Register every page (Streamlit's menu hidden) and return the one the URL asks for.

    Called before the login form, so a requested page is remembered across it, and again in the run where
    the login succeeded, when the role (and so what "/" shows) is known. A URL that names no page is kept in
    the session, so it can still be named after the login form.
    """
    pages = {name: _page(spec) for name, spec in PAGES.items()}
    names = ROLE_PAGES.get(actor.role, ()) if actor is not None else ()
    landing = names[0] if names else None
    if landing is None:
        default = st.Page(_logged_out_default, title="Log in", url_path=LOGIN_URL_PATH, default=True)
    else:
        spec = PAGES[landing]
        default = st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=HOME_URL_PATH, default=True)
    # The default page last: Streamlit resolves a page given by file path to the first page with that file.
    navigation = Navigation(st.navigation([*pages.values(), default], position="hidden"), pages, landing)
    if not navigation.is_default:
        st.session_state.pop(MISSING_PAGE_KEY, None)
    elif missing := _requested_path():
        st.session_state[MISSING_PAGE_KEY] = missing
    return navigation


def _page(spec: PageSpec) -> StreamlitPage:
    return st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path)


def _requested_path() -> str:
    """The path the browser asked for, relative to the app's root; "" for the root itself.

    ``st.context.url`` is the browser's URL with a registered page's url path at its end replaced by the
    running page's; on the default page (url path "") that leaves a path that names no page as it was sent.
    """
    url = st.context.url
    if not url:
        return ""
    path = urlparse(url).path.strip("/")
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    if base and (path == base or path.startswith(f"{base}/")):
        path = path[len(base) :].strip("/")
    return path


def sidebar_links(navigation: Navigation, actor: Actor) -> None:
    """The role's pages as sidebar links (Streamlit's own menu is hidden: it would list every page)."""
    for name in ROLE_PAGES.get(actor.role, ()):
        st.sidebar.page_link(navigation.pages[name])


def run_page(navigation: Navigation) -> None:
    """Run the requested page; at the root, the landing page, or say that the requested page does not exist."""
    if navigation.is_default:
        if navigation.landing is None:
            st.error("Your account has no pages. Contact an administrator.")
            return
        missing = st.session_state.get(MISSING_PAGE_KEY)
        if missing:
            landing = navigation.pages[navigation.landing]
            st.title("Page not found")
            # The path comes from the address bar: shown literally, and not at any length.
            st.error(f"No page at /{escape_markdown(missing[:MAX_SHOWN_PATH])}.")
            st.page_link(landing, label=f"Go to {landing.title}")
            return
    navigation.current.run()
