"""The xarray array engine: N-dimensional ``Dataset``/``DataArray`` values as zarr or netCDF.

It serves the frame port (``handles``/``write``/``read``) because the runner treats every
in-memory value it can persist the same way: a step returns it, the engine writes it under
the run's artifact directory, and loading the artifact hands it back. It does not offer the
tabular capabilities (rows, column schemas); it adds :meth:`XarrayEngine.stack`, which the
matrix views use to put one array of many runs side by side.

zarr stores are opened lazily (nothing is read until a value is used); netCDF files are read
into memory and closed, because HDF5 refuses to rewrite a file this process still has open.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import xarray as xr

_DRIVERS = ("zarr", "nc")
# xarray's own name for the variable holding an unnamed DataArray, so xarray.open_dataarray
# reads our files too.
_UNNAMED = "__xarray_dataarray_variable__"


class XarrayEngine:
    """Reads and writes ``xarray.Dataset`` and ``xarray.DataArray`` values.

    A ``DataArray`` is stored as a one-variable Dataset; reading it back for a parameter
    annotated ``xarray.DataArray`` returns that variable.
    """

    name = "xarray"
    drivers = _DRIVERS

    def handles(self, value: Any) -> bool:
        return isinstance(value, (xr.Dataset, xr.DataArray))

    # -- writing ---------------------------------------------------------------------------

    def write(self, value: Any, path: Path, driver: str) -> None:
        _check_driver(driver, "write")
        dataset = _as_dataset(value)
        path = Path(path)
        if driver == "zarr":
            _write_zarr(dataset, path)
        else:
            _write_netcdf(dataset, path)

    # -- reading ---------------------------------------------------------------------------

    def read(self, path: Path, driver: str, **kwargs: Any) -> xr.Dataset:
        _check_driver(driver, "read")
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no {driver} store at {path}")
        if driver == "zarr":
            return _open_zarr(path, **kwargs)
        return xr.load_dataset(path, **{"engine": _netcdf_engine(), **kwargs})

    def read_as(self, path: Path, driver: str, type_name: str, **kwargs: Any) -> Any:
        """Read ``path`` as the xarray type named ``type_name``: a ``DataArray`` when the
        store holds exactly one variable, else the ``Dataset``."""
        dataset = self.read(path, driver, **kwargs)
        if type_name.rsplit(".", 1)[-1] != "DataArray":
            return dataset
        names = list(dataset.data_vars)
        if len(names) != 1:
            raise ValueError(
                f"{path} holds {len(names)} variables ({names}); a parameter annotated "
                "xarray.DataArray needs exactly one. Annotate it xarray.Dataset instead."
            )
        array = dataset[names[0]]
        return array.rename(None) if names[0] == _UNNAMED else array

    # -- capability: stacking the same array of many runs ---------------------------------

    def stack(
        self,
        values: Sequence[Any],
        *,
        dim: str,
        labels: Sequence[str],
        coords: Mapping[str, Sequence[Any]],
        variables: Sequence[str] | None = None,
    ) -> xr.Dataset:
        """One Dataset with ``values`` (Datasets or DataArrays) side by side along ``dim``.

        Parameters
        ----------
        values
            One opened value per label.
        dim
            Name of the new dimension; ``labels`` become its coordinate.
        labels
            One label per value (e.g. run ids), in order.
        coords
            Further coordinates along ``dim`` (e.g. ``{"year": [2020, 2030]}``).
        variables
            Only these data variables; every value must hold all of them.

        Raises
        ------
        KeyError
            A value lacks one of ``variables``: names the label and what it does hold.
        """
        chosen = [
            _select(_as_dataset(v), variables, label)
            for v, label in zip(values, labels, strict=True)
        ]
        if _has_dask():
            # Dask-backed variables stay lazy through concat; without dask, xarray would
            # read every selected variable of every run here.
            chosen = [c.chunk() for c in chosen]
        stacked = xr.concat(
            chosen, dim=dim, data_vars="all", coords="minimal", compat="override", join="outer"
        )
        extra = {name: (dim, list(vals)) for name, vals in coords.items()}
        return stacked.assign_coords({dim: list(labels), **extra})


def _check_driver(driver: str, verb: str) -> None:
    if driver not in _DRIVERS:
        raise ValueError(
            f"xarray cannot {verb} driver {driver!r}; use one of {', '.join(_DRIVERS)} "
            "(a directory named '*.zarr' or a file named '*.nc')."
        )


def _as_dataset(value: Any) -> xr.Dataset:
    if isinstance(value, xr.DataArray):
        return value.to_dataset(name=value.name if value.name is not None else _UNNAMED)
    return value


def _select(dataset: xr.Dataset, variables: Sequence[str] | None, label: str) -> xr.Dataset:
    if variables is None:
        return dataset
    missing = [v for v in variables if v not in dataset.data_vars]
    if missing:
        raise KeyError(
            f"{label} holds no variable {missing[0]!r} (it has "
            f"{sorted(map(str, dataset.data_vars))}); pick variables every run wrote, or "
            "leave variables=None for all of them."
        )
    return dataset[list(variables)]


def _write_zarr(dataset: xr.Dataset, path: Path) -> None:
    # Written beside the target and renamed into place, so a reader never sees a half-written
    # store and a failed write leaves the previous one intact. The temporary name starts with
    # a dot so directory digests of the parent never include it.
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    target = staging / path.name
    try:
        with warnings.catch_warnings():
            # zarr 3 warns that consolidated metadata is not yet in its format spec; it is
            # still what lets a matrix view open many stores with one read each.
            warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
            # Text coordinates (zone names) have no settled zarr 3 encoding yet; zarr warns
            # on every write although it reads them back faithfully.
            warnings.filterwarnings("ignore", message=".*does not have a Zarr V3 specification.*")
            dataset.to_zarr(target, mode="w", consolidated=True)
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        os.replace(target, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_netcdf(dataset: xr.Dataset, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        dataset.to_netcdf(partial, engine=_netcdf_engine())
        os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)


def _open_zarr(path: Path, **kwargs: Any) -> xr.Dataset:
    options: dict[str, Any] = {"engine": "zarr", "chunks": None, **kwargs}
    with warnings.catch_warnings():
        # Stores written elsewhere may lack consolidated metadata; xarray then reads each
        # array's metadata instead and warns, which is no concern of the caller's.
        warnings.filterwarnings("ignore", message=".*consolidated metadata.*")
        return xr.open_dataset(path, **options)


def _netcdf_engine() -> str | None:
    # netCDF4 when installed (xarray's own preference), else h5netcdf from consist[arrays].
    if importlib.util.find_spec("netCDF4") is not None:
        return "netcdf4"
    if importlib.util.find_spec("h5netcdf") is not None:
        return "h5netcdf"
    return None


def _has_dask() -> bool:
    return importlib.util.find_spec("dask") is not None
