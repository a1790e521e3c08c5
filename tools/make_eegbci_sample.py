"""Make densest's bundled EEG sample from PhysioNet EEGMMIDB subject 1.

Imagined left vs right fist (runs 4, 8, 12), 17 motor channels, 8-35 Hz,
0-3 s after each cue, stored as float32 in
densest/datasets/data/eegbci_s001_imagery_lr_motor17.npz. The EDF files are
checked against the SHA-256 sums of MNE's EEGBCI registry first. Licence of
the data: ODC-By 1.0 (Schalk et al. 2004; Goldberger et al. 2000).

Usage: python tools/make_eegbci_sample.py [PATH]   (default ../shared/data/physionet_eegmmidb)
"""

import hashlib
import sys
from importlib import resources
from pathlib import Path

import numpy as np

from densest.datasets._eegbci import SAMPLE_FILE, TASKS, eegbci_files, load_eegbci


def mne_checksums():
    """{"S001/S001R04.edf": sha256, ...} from MNE's EEGBCI registry."""
    text = resources.files("mne").joinpath("data", "eegbci_checksums.txt").read_text()
    return dict(line.split() for line in text.splitlines() if line.strip())


def main():
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/physionet_eegmmidb")
    sums = mne_checksums()
    for file in eegbci_files(1, TASKS["imagery_lr"][0], path):
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        if sums.get(f"{file.parent.name}/{file.name}") != digest:
            raise SystemExit(f"{file} does not match MNE's checksum")
    X, y, info = load_eegbci(1, "imagery_lr", path)
    out = Path(__file__).resolve().parents[1] / "densest" / "datasets" / "data" / SAMPLE_FILE
    np.savez_compressed(out, X=X.astype(np.float32), y=y.astype(np.int8), ch_names=np.array(info["ch_names"]),
                        sfreq=info["sfreq"])  # fmt: skip
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): X {X.shape}, classes {np.bincount(y)}")


if __name__ == "__main__":
    main()
