"""ConvLab's data files, shipped inside the package as ``convlab.resources``.

This folder stays at the top of the repository; pyproject.toml maps it into the package, so
``importlib.resources.files("convlab.resources")`` finds it in a wheel, an editable install and a
checkout alike. Read it through :mod:`convlab.package_data`. No code lives here.
"""
