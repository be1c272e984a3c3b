"""Write cleaned frames back into the dataset, in the original transfer syntax if we can.

Only lossless encoders are used: re-encoding lossy would add a second generation of
loss and hide nothing more. Inputs whose syntax has no lossless encoder here (JPEG
baseline/extended/lossless, lossy JPEG-LS and JPEG 2000, HTJ2K) are written as
Explicit VR Little Endian; the caller records the syntax in the ledger. Explicit VR Big
Endian (retired) is converted to Explicit VR Little Endian, its word-structured values
byte-swapped by the writer's converter.
"""

from __future__ import annotations

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.pixels import pack_bits
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSLossless,
    RLELossless,
)

from deid.dicom.syntax import convert_big_endian, transfer_syntax_of

#: Syntaxes written back as they came: native ones directly, encapsulated ones re-encoded.
NATIVE_KEPT = (ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian)
REENCODED = (RLELossless, JPEGLSLossless, JPEG2000Lossless)
#: Syntaxes that are lossy by definition (Lossy Image Compression must say 01).
ALWAYS_LOSSY = (JPEGBaseline8Bit, JPEGExtended12Bit)


class CannotRewrite(Exception):
    """The pixels cannot be written back faithfully; the message is the quarantine reason."""


def write_frames(
    ds: pydicom.Dataset, stored: np.ndarray, photometric: str, photometric_in: str = ""
) -> str:
    """Replace Pixel Data with ``stored`` (frames first) and return the syntax written.

    The SOP Instance UID is never regenerated here: the engine remaps UIDs itself and must
    see the original one. A JPEG 2000 lossless input in YBR_RCT is re-encoded with the
    reversible colour transform again (``stored`` is its RGB decoding), as IODs such as
    US expect.
    """
    original = transfer_syntax_of(ds)
    if original == ExplicitVRBigEndian:
        # The retired syntax is written as Explicit VR Little Endian (as the engine writes
        # every Big Endian file): every word-structured value (palettes, overlays, the old
        # Pixel Data) is byte-swapped first, then the cleaned frames replace Pixel Data.
        convert_big_endian(ds)
        original = ExplicitVRLittleEndian
    if not hasattr(ds, "file_meta") or ds.file_meta is None:
        ds.file_meta = FileMetaDataset()
    had_frames = "NumberOfFrames" in ds
    frames_value = ds.get("NumberOfFrames")
    arr = stored[0] if stored.shape[0] == 1 else stored
    # Written natively first; a re-encoded syntax is applied at the end.
    ds.file_meta.TransferSyntaxUID = original if original in NATIVE_KEPT else ExplicitVRLittleEndian
    if int(ds.get("BitsAllocated", 8)) == 1:
        # Bit-packed data (segmentations): set_pixel_data cannot write it; pack it again.
        ds.PixelData = pack_bits(np.ascontiguousarray(arr).reshape(-1))
        return str(ds.file_meta.TransferSyntaxUID)
    bits_stored = int(ds.get("BitsStored", arr.dtype.itemsize * 8))
    ds.set_pixel_data(
        np.ascontiguousarray(arr), photometric, bits_stored, generate_instance_uid=False
    )
    if had_frames and "NumberOfFrames" not in ds:
        ds.NumberOfFrames = frames_value
    written = UID(str(ds.file_meta.TransferSyntaxUID))
    if original in REENCODED:
        if original == JPEG2000Lossless and photometric_in == "YBR_RCT":
            ds.PhotometricInterpretation = "YBR_RCT"  # the encoder applies the RCT
        try:
            ds.compress(original, generate_instance_uid=False)
            written = original
        except Exception:  # no usable encoder for this layout: stay uncompressed, truthfully
            ds.PhotometricInterpretation = photometric
            written = UID(str(ds.file_meta.TransferSyntaxUID))
    if original in ALWAYS_LOSSY or str(ds.get("LossyImageCompression", "")) == "01":
        # It was lossy once; a lossless rewrite does not undo that (PS3.3 C.7.6.1.1.5).
        ds.LossyImageCompression = "01"
    return str(written)
