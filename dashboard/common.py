"""What every page shares: cached models and tables, and the sidebar."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st  # noqa: E402

from colorkeras import dashboard, jobs, store  # noqa: E402
from colorkeras.inference import Colorizer  # noqa: E402


@st.cache_resource(max_entries=4, show_spinner="Loading the model ...")
def load_colorizer(name):
    """One loaded SavedModel per run, shared by every session."""
    return Colorizer(name)


@st.cache_data(ttl=5, show_spinner=False)
def metrics_table():
    return dashboard.metrics_table()


def runs():
    return store.list_runs()


def default_run():
    return store.default_run_name()


def sidebar():
    with st.sidebar:
        st.caption(f"Runs in `{store.models_dir()}`: {len(runs())}")
        st.caption(f"Default model: **{default_run() or 'none'}**")
        job = jobs.read_job()
        if job and job["status"] == "running":
            st.caption(f"Training **{job['name']}** in the background")


def run_selector(label, key, container=st):
    """A selectbox of the complete runs, on the default run; stops the page if there is none."""
    names = runs()
    if not names:
        st.info("No trained model in saved_models/ yet: train one on the Train page.")
        st.stop()
    default = default_run()
    return container.selectbox(label, names, index=names.index(default) if default in names else 0, key=key)
