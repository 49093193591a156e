"""The root URL: each user's landing page, or a plain "no page at ..." for a URL that names no page."""

from components.navigation import render_start_page

render_start_page()
