"""Writing .xlsx files: our streaming writer (:mod:`.writer`) for exports and results, and the
validation report (:mod:`.report`)."""
from ..cellref import col_letter
from .cells import CodedColumn, ColumnSpec, PlainSheet
from .writer import CHUNK_ROWS, MAX_ROWS, Deflater, FrameChunks, XlsxWriter
from .xml import xml_attr, xml_text

__all__ = ["XlsxWriter", "ColumnSpec", "PlainSheet", "CodedColumn", "Deflater", "FrameChunks", "CHUNK_ROWS",
           "MAX_ROWS", "col_letter", "xml_text", "xml_attr"]
