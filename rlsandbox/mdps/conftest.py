"""pytest: skip the doctests of the gymnasium bridge when the optional extra is missing."""
import importlib.util

collect_ignore = [] if importlib.util.find_spec("gymnasium") else ["gym_io.py", "_gym_env.py"]
