"""MLP10 onboarding: Could a new team member find their way around this store?

Every experiment has finished runs with names, users and metrics; the UI location is reported.

Run alone: `pytest --tracking-uri URI -k onboarding`. Full documentation: `mltrack explain onboarding`.
"""


def test_onboarding(pressure_check):
    pressure_check("onboarding")
