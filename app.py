"""Entry point: ``streamlit run app.py``. Checks the deployment, logs the user in, shows their role's pages."""

from __future__ import annotations

import streamlit as st

from components.auth import logout_button, require_login
from components.resilience import database_guard
from components.security import deployment_problems

st.set_page_config(page_title="IOP Medication Dashboard", page_icon=":material/medication:", layout="wide")

problems = deployment_problems(st.secrets.to_dict() if hasattr(st.secrets, "to_dict") else dict(st.secrets))
if problems:
    st.error("This deployment is not safe to start:\n\n" + "\n".join(f"- {problem}" for problem in problems))
    st.stop()

PAGES = {
    "caseload": st.Page(
        "pages/prescriber/caseload.py", title="Caseload", icon=":material/groups:", url_path="caseload"
    ),
    "refills": st.Page(
        "pages/prescriber/refills.py", title="Refill requests", icon=":material/medication:", url_path="refills"
    ),
    "chart": st.Page(
        "pages/clinical/patient_chart.py", title="Patient chart", icon=":material/monitoring:", url_path="chart"
    ),
    "triage": st.Page("pages/nurse/triage.py", title="Triage queue", icon=":material/flag:", url_path="triage"),
    "labs": st.Page("pages/nurse/labs.py", title="Labs", icon=":material/science:", url_path="labs"),
    "fhir_import": st.Page(
        "pages/nurse/fhir_import.py", title="Import self-reports", icon=":material/upload_file:", url_path="fhir-import"
    ),
    "overview": st.Page(
        "pages/supervisor/overview.py", title="Program overview", icon=":material/dashboard:", url_path="overview"
    ),
    "audit": st.Page(
        "pages/supervisor/audit_trail.py", title="Audit trail", icon=":material/manage_search:", url_path="audit"
    ),
    "reassign": st.Page(
        "pages/supervisor/reassign.py", title="Reassign patients", icon=":material/swap_horiz:", url_path="reassign"
    ),
    "users": st.Page("pages/admin/users.py", title="Users", icon=":material/admin_panel_settings:", url_path="users"),
}
# The first page of each role is its landing page. Page files check the role again themselves.
ROLE_PAGES: dict[str, list[str]] = {
    "prescriber": ["caseload", "chart", "refills", "labs"],
    "nurse": ["triage", "labs", "chart", "fhir_import"],
    "supervisor": ["overview", "caseload", "chart", "reassign", "audit"],
    "admin": ["users", "audit", "fhir_import"],
}

with database_guard():
    actor = require_login()
    st.sidebar.markdown(f"**{actor.full_name}**")
    st.sidebar.caption(actor.role.title())
    logout_button(actor)
    pages = [PAGES[name] for name in ROLE_PAGES.get(actor.role, [])]
    if not pages:
        st.error("Your account has no pages. Contact an administrator.")
        st.stop()
    navigation = st.navigation(pages)
    navigation.run()
