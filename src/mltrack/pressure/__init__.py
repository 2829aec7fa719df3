"""mltrack.pressure"""
