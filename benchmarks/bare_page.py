"""The floor for "first chart": a bare Streamlit page with a title and one small Altair chart.
    streamlit run benchmarks/bare_page.py   (benchmarks/bench_sessions.py starts it itself)
"""
import altair as alt
import pandas as pd
import streamlit as st

st.title("Bare page")
data = pd.DataFrame({"x": range(50), "y": [(i % 7) ** 2 for i in range(50)]})
st.altair_chart(alt.Chart(data).mark_line().encode(x="x:Q", y="y:Q"))
