"""PhysioNet EEG Motor Movement/Imagery (EEGMMIDB) epochs, from local files or the bundled sample."""

import os
import warnings
from importlib import resources
from pathlib import Path

import numpy as np

from densest.exceptions import DensestWarning
from densest.utils import import_optional

# task -> (runs, label of annotation T1, label of T2)
TASKS = {
    "imagery_lr": ((4, 8, 12), "left fist", "right fist"),
    "imagery_hf": ((6, 10, 14), "both fists", "both feet"),
    "execution_lr": ((3, 7, 11), "left fist", "right fist"),
    "execution_hf": ((5, 9, 13), "both fists", "both feet"),
}
MOTOR17 = ("FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
           "CP3", "CP1", "CPz", "CP2", "CP4")  # fmt: skip
SAMPLE_FILE = "eegbci_s001_imagery_lr_motor17.npz"
DATA_ENV = "DENSEST_EEGBCI_PATH"


def _run_file(root, subject, run):
    """The EDF file of a run under ``root``, in PhysioNet's or MNE's layout, or None."""
    name = Path(f"S{subject:03d}") / f"S{subject:03d}R{run:02d}.edf"
    for base in (root, root / "files" / "eegmmidb" / "1.0.0", root / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0"):
        if (base / name).is_file():
            return base / name
    return None


def eegbci_files(subject, runs, path=None):
    """Paths of the EDF files of ``runs`` of ``subject``.

    Parameters
    ----------
    subject : int
        Subject number, 1 to 109.
    runs : sequence of int
        Run numbers, 1 to 14.
    path : str or Path or None
        Folder holding ``S001/S001R04.edf`` and so on (PhysioNet's layout), or
        MNE's download folder; None: the environment variable
        ``DENSEST_EEGBCI_PATH``.

    Returns
    -------
    files : list of Path

    Raises
    ------
    FileNotFoundError
        If a file is missing, saying where to put the data and how to get it.

    Examples
    --------
    >>> try:
    ...     eegbci_files(1, [4], path="/nonexistent")
    ... except FileNotFoundError as error:
    ...     print(str(error).splitlines()[0])
    No EEGMMIDB file S001R04.edf under /nonexistent.
    """
    if not 1 <= int(subject) <= 109:
        raise ValueError(f"subject must be between 1 and 109; got {subject!r}.")
    if path is None:
        path = os.environ.get(DATA_ENV)
        if path is None:
            raise FileNotFoundError(f"No path given and {DATA_ENV} is not set. " + _how_to_get(subject, runs))
    root = Path(path).expanduser()
    files = []
    for run in runs:
        found = _run_file(root, int(subject), int(run))
        if found is None:
            raise FileNotFoundError(f"No EEGMMIDB file S{subject:03d}R{run:02d}.edf under {root}.\n"
                                    + _how_to_get(subject, runs))  # fmt: skip
        files.append(found)
    return files


def _how_to_get(subject, runs):
    return (
        f"Put PhysioNet's files in <path>/S{subject:03d}/ (https://physionet.org/content/eegmmidb/1.0.0/), "
        "or download them on a networked machine with MNE: "
        f"mne.datasets.eegbci.load_data({subject}, {list(runs)}, path=<path>) "
        "(MOABB's PhysionetMI dataset uses the same files)."
    )


def load_eegbci(subject=1, task="imagery_lr", path=None, *, picks="motor17", fmin=8.0, fmax=35.0,
                tmin=0.0, tmax=3.0):  # fmt: skip
    """Epochs of one subject and task of PhysioNet's EEG Motor Movement/Imagery data.

    Reads the task's three runs with MNE, standardises the channel names,
    band-passes the continuous signal (MNE's IIR default: a 4th-order
    Butterworth applied forward and backward), and cuts epochs from ``tmin``
    to ``tmax`` seconds after each T1/T2 cue (T0, rest, is ignored); as in
    MOABB's motor-imagery paradigm. 64 channels at 160 Hz (Schalk et al.
    2004, ODC-By 1.0).

    Parameters
    ----------
    subject : int, default=1
        Subject number (1-109).
    task : {"imagery_lr", "imagery_hf", "execution_lr", "execution_hf"}, default="imagery_lr"
        Imagined or executed left vs right fist (runs 4, 8, 12 / 3, 7, 11), or
        both fists vs both feet (6, 10, 14 / 5, 9, 13).
    path : str or Path or None
        Folder of the files (see :func:`eegbci_files`).
    picks : "motor17", None or list of str, default="motor17"
        Channels: the 17 motor channels FC3 .. CP4, all 64, or a list.
    fmin, fmax : float or None
        Band-pass edges in Hz (None: no high-pass or no low-pass).
    tmin, tmax : float
        Epoch window in seconds from the cue (both included). Cues whose window
        runs past the recording are dropped, with a warning.

    Returns
    -------
    X : ndarray of shape (n_trials, n_channels, n_times)
        Epochs in volts (float64).
    y : ndarray of shape (n_trials,)
        0 for T1 (left fist / both fists), 1 for T2 (right fist / both feet).
    info : dict
        "ch_names", "sfreq", "classes" (the two labels), "subject", "task".

    Examples
    --------
    >>> from densest.datasets import load_eegbci
    >>> X, y, info = load_eegbci(1, "imagery_lr", path="../shared/data/physionet_eegmmidb")  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (45, 17, 481)
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}; got {task!r}.")
    if isinstance(picks, str) and picks != "motor17":
        raise ValueError(f"picks must be 'motor17', None (all 64 channels) or a list of names; got {picks!r}.")
    if fmin is not None and fmax is not None and not 0 < fmin < fmax:
        # MNE would filter band-stop for fmin > fmax
        raise ValueError(f"The band-pass needs 0 < fmin < fmax; got fmin={fmin!r}, fmax={fmax!r}.")
    runs, first, second = TASKS[task]
    files = eegbci_files(subject, runs, path)
    mne = import_optional("mne", "eeg")
    raws = [mne.io.read_raw_edf(f, preload=True, verbose="error") for f in files]
    raw = mne.concatenate_raws(raws, verbose="error")
    mne.datasets.eegbci.standardize(raw)
    channels = list(MOTOR17) if picks == "motor17" else picks
    if channels is not None:
        missing = sorted(set(channels) - set(raw.ch_names))
        if missing:
            raise ValueError(f"Channels {missing} are not in the recording; it has {raw.ch_names}.")
        raw.pick(channels)
    raw.filter(fmin, fmax, method="iir", verbose="error")
    events, _ = mne.events_from_annotations(raw, event_id={"T1": 1, "T2": 2}, verbose="error")
    epochs = mne.Epochs(raw, events, event_id={"T1": 1, "T2": 2}, tmin=tmin, tmax=tmax, baseline=None,
                        preload=True, verbose="error")  # fmt: skip
    if len(epochs) < len(events):
        warnings.warn(f"{len(events) - len(epochs)} of {len(events)} cues were dropped: their window "
                      f"[{tmin}, {tmax}] s runs past the recording.", DensestWarning, stacklevel=2)  # fmt: skip
    X = epochs.get_data(copy=True)
    y = epochs.events[:, 2] - 1
    info = {"ch_names": list(epochs.ch_names), "sfreq": float(raw.info["sfreq"]), "classes": (first, second),
            "subject": int(subject), "task": task}  # fmt: skip
    return X, y, info


def load_eegbci_sample():
    """Bundled real sample: S001, imagined left vs right fist, 17 motor channels.

    45 epochs (0-3 s after the cue, 8-35 Hz, 160 Hz, float32 volts) of
    PhysioNet EEGMMIDB subject 1, runs 4, 8 and 12, made by
    ``tools/make_eegbci_sample.py`` with :func:`load_eegbci`. Licence: Open
    Data Commons Attribution (ODC-By 1.0); cite Schalk et al., "BCI2000: a
    general-purpose brain-computer interface (BCI) system", IEEE TBME 51(6),
    2004, and Goldberger et al., "PhysioBank, PhysioToolkit, and PhysioNet",
    Circulation 101(23), 2000.

    Returns
    -------
    X : ndarray of shape (45, 17, 481)
        Epochs (float32, volts).
    y : ndarray of shape (45,)
        0 = left fist, 1 = right fist.
    info : dict
        As :func:`load_eegbci`.

    Examples
    --------
    >>> from densest.datasets import load_eegbci_sample
    >>> X, y, info = load_eegbci_sample()
    >>> X.shape, info["sfreq"]
    ((45, 17, 481), 160.0)
    """
    with resources.files("densest.datasets").joinpath("data", SAMPLE_FILE).open("rb") as handle:
        data = np.load(handle, allow_pickle=False)
        X, y = data["X"], data["y"]
        info = {"ch_names": [str(c) for c in data["ch_names"]], "sfreq": float(data["sfreq"]),
                "classes": ("left fist", "right fist"), "subject": 1, "task": "imagery_lr"}  # fmt: skip
    return X, y, info
