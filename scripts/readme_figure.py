"""Draw the README's figure from the bundled demo store: `python scripts/readme_figure.py`."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import clvlib  # noqa: E402
from clvlib import plots  # noqa: E402
from clvlib.config import PROJ_ROOT  # noqa: E402


def main() -> None:
    orders = clvlib.load_orders()
    customers = clvlib.customer_summary(orders)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    plots.plot_lorenz_curve(clvlib.lorenz_curve(customers), ax=left)
    plots.plot_aov_bands(clvlib.aov_bands(orders), ax=right)
    fig.suptitle("Demo store: who brings the revenue", fontsize=13)
    fig.savefig(PROJ_ROOT / "docs" / "figures" / "readme_lorenz.png", dpi=110)


if __name__ == "__main__":
    main()
