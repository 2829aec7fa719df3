"""mltrack.seed"""
