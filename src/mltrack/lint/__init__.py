"""mltrack.lint"""
