"""Readers for the three NLM formats, format detection, Parquet table and load cache."""

from __future__ import annotations

import gzip
import socket
import tracemalloc
from pathlib import Path

import pytest

from meshdistill.errors import InputError
from meshdistill.mesh import DescriptorRecord, MeshTree
from meshdistill.mesh import readers as mesh_readers

DESCRIPTOR_XML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE DescriptorRecordSet SYSTEM "desc2017.dtd">
<DescriptorRecordSet LanguageCode="eng">
<DescriptorRecord DescriptorClass="1">
 <DescriptorUI>D009369</DescriptorUI>
 <DescriptorName><String>Neoplasms</String></DescriptorName>
 <PharmacologicalActionList>
  <PharmacologicalAction>
   <DescriptorReferredTo>
    <DescriptorUI>D000970</DescriptorUI>
    <DescriptorName><String>Antineoplastic Agents</String></DescriptorName>
   </DescriptorReferredTo>
  </PharmacologicalAction>
 </PharmacologicalActionList>
 <TreeNumberList><TreeNumber>C04</TreeNumber></TreeNumberList>
 <ConceptList>
  <Concept PreferredConceptYN="Y">
   <TermList>
    <Term><String>Neoplasms</String></Term>
    <Term><String>Tumors</String></Term>
   </TermList>
  </Concept>
  <Concept PreferredConceptYN="N">
   <TermList><Term><String>Cancer</String></Term><Term><String>Tumors</String></Term></TermList>
  </Concept>
 </ConceptList>
</DescriptorRecord>
<DescriptorRecord DescriptorClass="1">
 <DescriptorUI>D008175</DescriptorUI>
 <DescriptorName><String>Lung Neoplasms</String></DescriptorName>
 <TreeNumberList>
  <TreeNumber>C04.588.894.797.520</TreeNumber>
  <TreeNumber>C08.381.540</TreeNumber>
 </TreeNumberList>
</DescriptorRecord>
<DescriptorRecord DescriptorClass="3">
 <DescriptorUI>D005260</DescriptorUI>
 <DescriptorName><String>Female</String></DescriptorName>
</DescriptorRecord>
</DescriptorRecordSet>
"""

EXPECTED_XML_RECORDS = [
    DescriptorRecord("D009369", "Neoplasms", ("C04",), ("Tumors", "Cancer")),
    DescriptorRecord("D008175", "Lung Neoplasms", ("C04.588.894.797.520", "C08.381.540")),
    DescriptorRecord("D005260", "Female", ()),
]


def write(path: Path, text: str, compress: bool = False) -> Path:
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the MeSH readers must never open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("compress", [False, True])
def test_descriptor_xml(tmp_path: Path, compress: bool, no_network: None) -> None:
    name = "desc2017.xml.gz" if compress else "desc2017.xml"
    path = write(tmp_path / name, DESCRIPTOR_XML, compress)
    assert list(mesh_readers.read_descriptor_xml(path)) == EXPECTED_XML_RECORDS
    tree = MeshTree.load(path)
    assert tree.ui_for_name("cancer") == "D009369"
    assert "D000970" not in tree  # nested references are not descriptors of the file


def test_bundled_subset_with_remote_dtd_is_parsed_offline(no_network: None) -> None:
    from tests.mesh.conftest import BUNDLED_SUBSET

    if not BUNDLED_SUBSET.is_file():
        pytest.skip(f"bundled MeSH subset {BUNDLED_SUBSET} is absent")
    tree = MeshTree.load(BUNDLED_SUBSET)
    assert len(tree) == 218
    assert tree.ui_for_name("Heart Attack") == tree.ui_for_name("Myocardial Infarction")


def synthetic_xml(path: Path, records: int) -> Path:
    body = "".join(
        f"<DescriptorRecord><DescriptorUI>D{i:06d}</DescriptorUI>"
        f"<DescriptorName><String>Name {i}</String></DescriptorName>"
        f"<TreeNumberList><TreeNumber>A01.{i:05d}</TreeNumber></TreeNumberList>"
        "<ConceptList><Concept><TermList><Term><String>Synonym of descriptor number "
        f"{i}</String></Term></TermList></Concept></ConceptList></DescriptorRecord>\n"
        for i in range(records)
    )
    return write(path, f'<?xml version="1.0"?>\n<DescriptorRecordSet>{body}</DescriptorRecordSet>')


def streaming_peak(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in mesh_readers.read_descriptor_xml(path))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_descriptor_xml_memory_stays_flat(tmp_path: Path) -> None:
    small_count, small_peak = streaming_peak(synthetic_xml(tmp_path / "small.xml", 1_000))
    large_count, large_peak = streaming_peak(synthetic_xml(tmp_path / "large.xml", 8_000))
    assert (small_count, large_count) == (1_000, 8_000)
    # Eight times the records (about 1.6 MB more XML) may not grow the peak by more than half.
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<DescriptorRecordSet><DescriptorRecord>", "malformed XML"),
        ("<Other/>", "expected a <DescriptorRecordSet>"),
        (
            "<DescriptorRecordSet><DescriptorRecord><DescriptorName><String>X</String>"
            "</DescriptorName></DescriptorRecord></DescriptorRecordSet>",
            "without DescriptorUI",
        ),
        (
            "<DescriptorRecordSet><DescriptorRecord><DescriptorUI>D1</DescriptorUI>"
            "<DescriptorName><String>X</String></DescriptorName><TreeNumberList>"
            "<TreeNumber>c04..1</TreeNumber></TreeNumberList></DescriptorRecord>"
            "</DescriptorRecordSet>",
            "malformed tree number",
        ),
    ],
)
def test_descriptor_xml_errors_name_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path / "bad.xml", text)
    with pytest.raises(InputError, match=problem) as caught:
        list(mesh_readers.read_descriptor_xml(path))
    assert caught.value.source == str(path)


def test_mtrees(tmp_path: Path) -> None:
    path = write(
        tmp_path / "mtrees2017.bin",
        "Neoplasms;C04\nLung Neoplasms;C04.588.894.797.520\nLung Neoplasms;C08.381.540\n"
        "Odd; Name;C08\n\n",
    )
    tree = MeshTree.load(path)
    lung = tree.ui_for_name("lung neoplasms")
    assert lung == "name:Lung Neoplasms"
    assert tree.tree_numbers(lung) == ("C04.588.894.797.520", "C08.381.540")
    assert tree.ui_for_tree_number("C08") == "name:Odd; Name"
    bad = write(tmp_path / "bad.bin", "Neoplasms;C04\nno separator here\n")
    with pytest.raises(InputError, match="line 2"):
        MeshTree.from_mtrees(bad)


def test_tree_tsv_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "MeshTreeHierarchy2017.tsv"
    rows = [
        "\ufeffTree Number\tDesc Ui\tTerm",
        "C04\tD009369\tNeoplasms",
        "C04.588.894.797.520\tD008175\tLung Neoplasms",
        "C08.381.540\tD008175\tLung Neoplasms",
    ]
    path.write_bytes("\r\n".join(rows).encode())
    tree = MeshTree.load(path)
    assert tree.uis == ("D008175", "D009369")
    assert tree.tree_numbers("D008175") == ("C04.588.894.797.520", "C08.381.540")
    bad = write(tmp_path / "bad.tsv", "C04\tD009369\tNeoplasms\nC05\tD009369\tOther Name\n")
    with pytest.raises(InputError, match=r"line 2.*named both"):
        MeshTree.from_tree_tsv(bad)
    short = write(tmp_path / "short.tsv", "C04\tD009369\n")
    with pytest.raises(InputError, match="three tab-separated fields"):
        MeshTree.from_tree_tsv(short)


def test_format_detection(tmp_path: Path) -> None:
    xml = write(tmp_path / "mesh_xml_without_suffix", DESCRIPTOR_XML)
    tsv = write(tmp_path / "listing", "C04\tD009369\tNeoplasms\n")
    mtrees = write(tmp_path / "trees", "Neoplasms;C04\n")
    assert mesh_readers.detect_format(xml) == mesh_readers.FORMAT_DESCRIPTOR_XML
    assert mesh_readers.detect_format(tsv) == mesh_readers.FORMAT_TREE_TSV
    assert mesh_readers.detect_format(mtrees) == mesh_readers.FORMAT_MTREES
    assert MeshTree.load(xml).uis == ("D005260", "D008175", "D009369")
    unknown = write(tmp_path / "mystery", "hello world\n")
    with pytest.raises(InputError, match="cannot tell the MeSH format"):
        MeshTree.load(unknown)
    with pytest.raises(InputError, match="cannot open"):
        MeshTree.load(tmp_path / "missing.xml")


def test_parquet_round_trip_is_byte_stable(tmp_path: Path, hand_tree: MeshTree) -> None:
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    hand_tree.to_parquet(first)
    MeshTree.from_records(reversed(list(hand_tree.records()))).to_parquet(second)
    assert first.read_bytes() == second.read_bytes()
    loaded = MeshTree.from_parquet(first)
    assert list(loaded.records()) == list(hand_tree.records())
    assert MeshTree.load(first).uis == hand_tree.uis
    with pytest.raises(InputError, match="cannot read the MeSH descriptor table"):
        MeshTree.from_parquet(write(tmp_path / "junk.parquet", "not parquet"))


def test_load_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write(tmp_path / "desc.xml", DESCRIPTOR_XML)
    cache = tmp_path / "cache"
    first = MeshTree.load(source, cache_dir=cache)
    cached_files = list(cache.glob("desc.xml.*.parquet"))
    assert len(cached_files) == 1

    def must_not_parse(path: object) -> MeshTree:
        raise AssertionError("a cache hit must not parse the XML again")

    monkeypatch.setattr(MeshTree, "from_descriptor_xml", classmethod(must_not_parse))
    second = MeshTree.load(source, cache_dir=cache)
    assert list(second.records()) == list(first.records())

    # A changed source (new size and mtime) misses the cache and is parsed again.
    monkeypatch.undo()
    write(source, DESCRIPTOR_XML.replace("Lung Neoplasms", "Lung Tumours"))
    third = MeshTree.load(source, cache_dir=cache)
    assert third.name("D008175") == "Lung Tumours"
    assert len(list(cache.glob("desc.xml.*.parquet"))) == 2
