"""The desktop test rig: real speech, a real X display, real audio, started by the tests themselves.

See ../shared/desktop-test-rig.md for the recipes each helper here automates.
"""
