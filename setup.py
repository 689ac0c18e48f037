"""Which packages install, and under which name; everything else is in setup.cfg.

The ``plugins/`` folder (MLflow plugin modules, the product layout) installs as
``mlflow_automl_plugins``, so it cannot collide with another distribution's ``plugins``
package. setup.cfg cannot map a folder to another name together with package discovery.
"""

from setuptools import find_packages, setup

PLUGINS = "mlflow_automl_plugins"

setup(
    packages=[
        *find_packages(include=["mlflow_automl", "mlflow_automl.*"]),
        PLUGINS,
        *(f"{PLUGINS}.{name}" for name in find_packages("plugins")),
    ],
    package_dir={PLUGINS: "plugins"},
)
