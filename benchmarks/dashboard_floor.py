"""A bare Streamlit page: the dashboard's sidebar widgets and five key figures, no data.

``bench_dashboard.py --browser`` times it next to the dashboard: what any Streamlit page
with these filters costs to draw on the machine, before a single query or chart.
"""

import datetime as dt

import streamlit as st

st.set_page_config(page_title="floor", layout="wide")
st.sidebar.radio("Language / Langue", ["English", "Français"], horizontal=True)
st.sidebar.header("Filters")
st.sidebar.date_input("Date range", value=(dt.date(2025, 1, 1), dt.date(2025, 1, 31)))
for name in ("Country", "Segment", "Channel"):
    st.sidebar.multiselect(name, ["a", "b", "c"], placeholder="All")
st.sidebar.button("Reload data")
st.title("SalesOptic")
st.tabs(["Business", "Data quality", "Operations", "Architecture"])
st.subheader("Key figures")
for cell, label in zip(
    st.columns(5), ("Revenue", "Orders", "Units", "AOV", "Customers"), strict=True
):
    cell.metric(label, "1,234")
