"""``consist.MatrixViewFactory``: the core's matrix views, on the tracker of the run
executing now when none is given (see :mod:`consist.core.matrix`)."""

from __future__ import annotations

from typing import Any

from consist.api.context import owner_tracker
from consist.core import matrix
from consist.core.matrix import ARRAY_ENGINE, RUN_COORDS

__all__ = ["ARRAY_ENGINE", "RUN_COORDS", "MatrixViewFactory"]


class MatrixViewFactory(matrix.MatrixViewFactory):
    """Opens an array artifact of many runs as one Dataset (see :meth:`load_matrix_view`).

    Parameters
    ----------
    tracker
        The tracker whose database and workspace hold the runs; defaults to the tracker of
        the run executing now.
    """

    def __init__(self, tracker: Any = None) -> None:
        super().__init__(owner_tracker(tracker, "MatrixViewFactory", "find_artifacts"))
