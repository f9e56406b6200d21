"""One module per page of the Streamlit app; each exposes `render()` for `st.Page` (see `ui/app.py`)."""
