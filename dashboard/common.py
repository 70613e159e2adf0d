"""What every page shares: cached models and tables, and the sidebar."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st

from colorkeras.app import reports
from colorkeras.core import store
from colorkeras.serving.inference import Colorizer
from colorkeras.training import jobs


@st.cache_resource(max_entries=4, show_spinner="Loading the model ...")
def _cached_colorizer(name, stamp):
    """One loaded SavedModel per run and content stamp, shared by every session."""
    return Colorizer(name)


def load_colorizer(name):
    """The run's colorizer; a run replaced on disk (``export --overwrite``) is loaded afresh."""
    return _cached_colorizer(name, store.run_stamp(store.resolve_run(name)))


@st.cache_data(ttl=5, show_spinner=False)
def metrics_table(data_source):
    return reports.metrics_table(data_source=data_source)


@st.cache_data(ttl=5, show_spinner=False)
def data_sources():
    return reports.data_sources()


@st.cache_data(ttl=5, show_spinner=False)
def other_reports():
    return reports.other_reports()


def runs():
    return store.list_runs()


def default_run():
    """The run that colorizes photos when none is chosen."""
    return store.default_run_name()


def reference_run():
    """The reference run for training history and metrics."""
    return store.reference_run_name()


def sidebar():
    with st.sidebar:
        st.caption(f"Runs in `{store.models_dir()}`: {len(runs())}")
        st.caption(f"Colorizes with: **{default_run() or 'none'}**")
        st.caption(f"Reference for training and metrics: **{reference_run() or 'none'}**")
        job = jobs.read_job()
        if job and job["status"] == "running":
            st.caption(f"Training **{job['name']}** in the background")


def run_selector(label, key, container=st, default=None):
    """A selectbox of the complete runs, on ``default`` (the default run); stops the page if there is none."""
    names = runs()
    if not names:
        st.info("No trained model in saved_models/ yet: train one on the Train page.")
        st.stop()
    default = default or default_run()
    return container.selectbox(label, names, index=names.index(default) if default in names else 0, key=key)
