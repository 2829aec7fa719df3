"""One module per pressure check: its documentation, `gather` and `judge` side by side."""
