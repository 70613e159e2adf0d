"""colorkeras dashboard: ``streamlit run dashboard/app.py``.

A router only: the pages live in ``app_pages/`` and hold UI; the logic lives in
``colorkeras`` (``colorkeras.app``, ``colorkeras.training.jobs``, ``colorkeras.serving.inference``).
"""

import common
import streamlit as st

st.set_page_config(page_title="colorkeras", page_icon=":material/palette:", layout="wide")

colorize_page = st.Page("app_pages/colorize.py", title="Colorize", icon=":material/palette:", url_path="colorize")


def open_colorize():
    """The app's root opens the Colorize page at its own address, /colorize (a default
    page lives at / only, and its name would answer "Page not found")."""
    st.switch_page(colorize_page)


pages = [
    st.Page(open_colorize, title="Start", url_path="start", default=True, visibility="hidden"),
    colorize_page,
    st.Page("app_pages/film.py", title="Film", icon=":material/movie:"),
    st.Page("app_pages/history.py", title="Training history", icon=":material/show_chart:"),
    st.Page("app_pages/metrics.py", title="Metrics", icon=":material/table_chart:"),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
]
navigation = st.navigation(pages)
common.sidebar()
navigation.run()
