"""mltrack.report"""
