"""``ilog contact import``: real CSV, XLSX and XML files (ugly ones too), through the real CLI."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def contacts(cli, *args: str) -> dict[str, dict]:
    return {c["no"]: c for c in cli.ok("contact", "list", "-f", "json", *args).json()}


def write(path: Path, text: str, *, bom: bool = False, encoding: str = "utf-8") -> Path:
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


# -- CSV ------------------------------------------------------------------------------

def test_ugly_csv_imports_exactly(cli, tmp_path):
    """BOM, semicolons, CRLF, blank lines, a quoted field with a newline, formulas, Polish/Italian/Romanian."""
    run = cli("contact", "import", DATA / "contacts_ugly.csv", "--errors", tmp_path / "failed.csv")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == ""
    assert "'Notes'" in run.stderr and "ignored" in run.stderr  # unknown column reported
    assert "5 rows: 5 created, 0 updated, 0 skipped, 0 failed" in run.stderr
    got = contacts(cli)
    assert set(got) == {"C100", "C200", "P101", "P201", "P301"}
    assert got["C100"]["name"] == "Zakład Zażółć Gęślą sp. z o.o." and got["C100"]["type"] == "company"
    assert got["C100"]["city"] == "Łódź" and got["C100"]["country"] == "PL"
    assert got["C200"]["phone"] == "=1+1"  # text, never evaluated
    assert got["P101"]["name"] == "Zażółć Gęślą" and got["P101"]["company_no"] == "C100"
    assert got["P201"]["name"] == "Niccolò Città" and got["P201"]["company_no"] == "C200"  # by company name
    assert got["P301"]["name"] == "Ștefan Țăranu" and got["P301"]["phone"] == '=HYPERLINK("http://x")'
    assert got["P301"]["city"] == "Timișoara"
    assert not (tmp_path / "failed.csv").exists()


def test_importing_the_same_file_twice_changes_nothing(cli, snapshot):
    cli.ok("contact", "import", DATA / "contacts_ugly.csv")
    before = snapshot()
    for policy in ("skip", "update"):
        run = cli.ok("contact", "import", DATA / "contacts_ugly.csv", "--on-existing", policy)
        assert "0 created, 0 updated, 5 skipped, 0 failed" in run.stderr
        assert snapshot() == before


def test_rows_without_numbers_are_matched_on_reimport(cli, tmp_path, snapshot):
    """No numbers in the file: series numbers are drawn once, then rows match by external id, email or name."""
    path = write(tmp_path / "c.csv", "Name,Type,Company,Email,External ID\n"
                                     "Rossi SpA,company,,,\n"
                                     "Mario Rossi,,Rossi SpA,,\n"
                                     "Anna Rossi,,Rossi SpA,anna@rossi.it,\n"
                                     "Ion Popescu,,,,ERP-7\n")
    cli.ok("contact", "import", path)
    got = contacts(cli)
    assert sorted(got) == ["CT000001", "CT000002", "CT000003", "CT000004"]
    before = snapshot()
    run = cli.ok("contact", "import", path, "--on-existing", "update")
    assert "0 created, 0 updated, 4 skipped" in run.stderr
    assert snapshot() == before


@pytest.mark.parametrize("delimiter,text", [
    ("\t", "No\tName\tEmail\nK1\tTab Person\tt@x.it\n"),
    ("|", "No|Name|Email\nK1|Tab Person|t@x.it\n"),
    (",", "No,Name,Email\nK1,\"Tab, Person\",t@x.it\n"),
])
def test_delimiter_is_sniffed(cli, tmp_path, delimiter, text):
    cli.ok("contact", "import", write(tmp_path / "c.csv", text))
    assert contacts(cli)["K1"]["email"] == "t@x.it"


def test_delimiter_option_and_stdin(cli, tmp_path):
    text = "No:Name\nK1:Colon Person\n"
    cli.ok("contact", "import", write(tmp_path / "c.txt", text), "--delimiter", ":")
    assert contacts(cli)["K1"]["name"] == "Colon Person"
    run = cli("contact", "import", "-", input="No.;Name\nK2;Stdin Person\n")
    assert run.exit_code == 0, run.stderr
    assert contacts(cli)["K2"]["name"] == "Stdin Person"


def test_ragged_rows_fail_with_physical_line_numbers(cli, tmp_path):
    path = write(tmp_path / "c.csv", 'No,Name,City\nK1,"Two\nlines",Roma\nK2,Short\n\nK3,Ok,Bari\nK4,Long,Bari,extra\n')
    run = cli("contact", "import", path, "--errors", tmp_path / "failed.csv")
    assert run.exit_code == 1
    assert "c.csv, line 4: has 2 fields, the header has 3" in run.stderr
    assert "c.csv, line 7: has 4 fields, the header has 3" in run.stderr
    assert "2 created, 0 updated, 0 skipped, 2 failed" in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("ilog: error: 2 rows failed")
    assert sorted(contacts(cli)) == ["K1", "K3"]
    with open(tmp_path / "failed.csv", encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["No", "Name", "City", "reason"]
    assert rows[1] == ["K2", "Short", "line 4: has 2 fields, the header has 3"]


@pytest.mark.parametrize("content,expected", [
    (b'No,Name\nK1,Ok\nK2,"never closed\nK3,x\n', "line 3: a quoted field is never closed"),
    (b"No,Name\nK1,Ok\nK2,Nul\x00here\n", "line 3: contains a NUL byte"),
    (b"No,Name\nK1,Ok\nK2,Caf\x81\n", "line 3: not valid UTF-8, nor Windows-1252"),
    (b'No,Name\nK1,"a"b\n', "line 2:"),
    (b"", "empty"),
])
def test_broken_csv_is_refused_before_anything_is_written(cli, tmp_path, snapshot, content, expected):
    cli.ok("init")
    before = snapshot()
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    run = cli("contact", "import", path, "--batch-size", "1")
    assert run.exit_code == 2, run.stderr
    assert run.stderr.startswith("ilog: error:") and expected in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert snapshot() == before


@pytest.mark.parametrize("content, encoding, notice", [
    # Excel's "CSV" on Windows: Windows-1252, no byte-order mark: read so, and said so
    ("No;Name;City\nK1;Jürgen Groß;München\n".encode("cp1252"), None, "not valid UTF-8 (line 2): read it as "
                                                                       "Windows-1252"),
    ("No,Name,City\nK1,Jürgen Groß,München\n".encode("utf-16"), None, None),  # its byte-order mark says so
    ("No,Name,City\nK1,Jürgen Groß,München\n".encode("latin-1"), "latin-1", None),
    ("No,Name,City\nK1,Jürgen Groß,München\n".encode("utf-16-le"), "utf-16-le", None),
    ("\ufeffNo,Name,City\nK1,Jürgen Groß,München\n".encode("utf-8"), None, None),
])
def test_files_in_the_encodings_erps_write_import_with_the_encoding_said(cli, tmp_path, content, encoding, notice):
    cli.ok("init")
    path = tmp_path / "erp.csv"
    path.write_bytes(content)
    run = cli.ok("contact", "import", path, *(["--encoding", encoding] if encoding else []))
    assert (notice in run.stderr) if notice else ("UTF-8" not in run.stderr)
    [contact] = cli.ok("contact", "list", "-f", "json").json()
    assert (contact["no"], contact["name"], contact["city"]) == ("K1", "Jürgen Groß", "München")


def test_an_unknown_encoding_is_a_bad_value(cli, tmp_path, snapshot):
    cli.ok("init")
    before = snapshot()
    (tmp_path / "a.csv").write_text("Name\nA\n")
    run = cli("contact", "import", tmp_path / "a.csv", "--encoding", "klingon")
    assert (run.exit_code, run.stderr.strip()) == (2, "ilog: error: unknown encoding 'klingon': give e.g. utf-8, "
                                                      "cp1252, latin-1, utf-16")
    assert snapshot() == before


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_contact_export_imports_back_unchanged(sample, new_db_url, fmt, tmp_path):
    from conftest import CLI

    sample.ok("contact", "edit", "P3", "--city", "Iași", "--phone", "+40 1", "--external-id", "E-3")
    exported = sample.ok("contact", "export", "-f", fmt).stdout
    (tmp_path / f"c.{fmt}").write_text(exported)
    other = CLI(new_db_url(), [])
    other.ok("init")
    other.ok("contact", "import", tmp_path / f"c.{fmt}")
    assert other.ok("contact", "export", "-f", fmt).stdout == exported


# -- mapping --------------------------------------------------------------------------

def test_header_aliases_are_case_space_and_punctuation_insensitive(cli, tmp_path):
    path = write(tmp_path / "c.csv", "CONTACT NO,full name,e_mail,Mobile Phone No.,Salesperson Code,External-ID,"
                                     "Address,Address 2,ZIP,Town,country region code\n"
                                     "k1,Anna Bianchi,anna@x.it,333,sp1,E1,Via Roma 1,Scala B,00100,Roma,IT\n")
    cli.ok("contact", "import", path)
    got = contacts(cli)["K1"]
    assert (got["name"], got["email"], got["mobile_phone"], got["salesperson_code"], got["external_id"]) == (
        "Anna Bianchi", "anna@x.it", "333", "SP1", "E1")
    assert (got["address"], got["address_2"], got["post_code"], got["city"], got["country"]) == (
        "Via Roma 1", "Scala B", "00100", "Roma", "IT")


def test_map_option(cli, tmp_path, snapshot):
    path = write(tmp_path / "c.csv", "Codice,Ragione sociale,Cellulare,Note\nK1,Rossi,333,x\n")
    cli.ok("init")
    before = snapshot()
    run = cli("contact", "import", path)  # no name column: refused
    assert run.exit_code == 2 and "no Name column" in run.stderr and "--map" in run.stderr
    for bad in (["--map", "Codice=colour"], ["--map", "Missing=name"], ["--map", "nothing"],
                ["--map", "Ragione sociale=name", "--map", "Cellulare=Name"]):
        run = cli("contact", "import", path, *bad)
        assert run.exit_code == 2 and run.stderr.startswith("ilog: error:"), (bad, run.stderr)
    assert snapshot() == before
    run = cli.ok("contact", "import", path, "--map", "Codice=no", "--map", "Ragione sociale=name",
                 "--map", "cellulare=mobile phone", "--map", "Note=-")
    assert "Note" not in run.stderr
    got = contacts(cli)["K1"]
    assert got["name"] == "Rossi" and got["mobile_phone"] == "333"


def test_first_and_last_name_make_the_name(cli, tmp_path):
    cli.ok("contact", "import", write(tmp_path / "c.csv", "No,First Name,Last Name\nK1,Ștefan,Țăranu\n"))
    assert contacts(cli)["K1"]["name"] == "Ștefan Țăranu"


# -- companies ------------------------------------------------------------------------

def test_create_companies_creates_each_once(cli, tmp_path):
    path = write(tmp_path / "c.csv", "Name,Company Name,Email\n"
                                     "Anna,Nuova Srl,anna@nuova.it\n"
                                     "Bruno,NUOVA SRL,bruno@nuova.it\n"
                                     "Carla,Altra SpA,carla@altra.it\n"
                                     "Dario,Nuova Srl,dario@nuova.it\n")
    run = cli("contact", "import", path, "--batch-size", "2")
    assert run.exit_code == 1 and "unknown company 'Nuova Srl' (--create-companies creates it)" in run.stderr
    assert contacts(cli) == {}
    run = cli.ok("contact", "import", path, "--create-companies", "--batch-size", "2")
    assert "2 companies created" in run.stderr
    companies = contacts(cli, "--type", "company")
    assert sorted(c["name"] for c in companies.values()) == ["Altra SpA", "Nuova Srl"]
    nuova = next(no for no, c in companies.items() if c["name"] == "Nuova Srl")
    persons = contacts(cli, "--type", "person")
    assert sorted(p["name"] for p in persons.values() if p["company_no"] == nuova) == ["Anna", "Bruno", "Dario"]
    # series numbers are taken exactly: no gaps, even across batches
    assert sorted(contacts(cli)) == [f"CT{n:06d}" for n in range(1, 7)]
    again = cli.ok("contact", "import", path, "--create-companies", "--match", "email")
    assert "0 created" in again.stderr and "companies created" not in again.stderr


def test_company_by_number_and_by_name(cli, tmp_path):
    cli.ok("contact", "add", "Rossi SpA", "--no", "C1", "--type", "company")
    cli.ok("contact", "add", "Twin", "--no", "T1", "--type", "company")
    cli.ok("contact", "add", "Twin", "--no", "T2", "--type", "company")
    cli.ok("contact", "add", "Lone Person", "--no", "L1")
    path = write(tmp_path / "c.csv", "No,Name,Type,Company No.,Company Name\n"
                                     "P1,Mario,,C1,\n"
                                     "P2,Anna,,,rossi spa\n"
                                     "P3,Gianni,,C9,\n"
                                     "P4,Bea,,,Twin\n"
                                     "P5,Carlo,,L1,\n"
                                     "C2,Company with a company,Company,,Rossi SpA\n")
    run = cli("contact", "import", path)
    assert run.exit_code == 1
    assert "line 4: unknown company C9" in run.stderr
    assert "line 5: company name 'Twin' matches more than one company" in run.stderr
    assert "line 6: contact L1 (Lone Person) is a person, not a company" in run.stderr
    assert "line 7: a company cannot belong to a company" in run.stderr
    got = contacts(cli)
    assert got["P1"]["company_no"] == "C1" and got["P2"]["company_no"] == "C1"


def test_person_already_in_another_company_is_a_bad_row(sample, tmp_path, snapshot):
    sample.ok("contact", "add", "Bianchi Srl", "--no", "C2", "--type", "company")
    path = write(tmp_path / "c.csv", "No,Name,Company No.\nP1,Mario Rossi,C2\nP3,Ion Popescu,C2\n")
    run = sample("contact", "import", path, "--on-existing", "update")
    assert run.exit_code == 1
    assert "line 2: person P1 already belongs to company C1 (Rossi SpA)" in run.stderr
    assert "1 updated" in run.stderr  # P3 had no company: it joins C2
    got = contacts(sample)
    assert got["P1"]["company_no"] == "C1" and got["P3"]["company_no"] == "C2"


# -- matching -------------------------------------------------------------------------

def test_match_by_email_and_external_id_with_update(sample, tmp_path):
    sample.ok("contact", "edit", "P3", "--external-id", "ERP-3")
    path = write(tmp_path / "c.csv", "Name,E-mail,Phone,External ID\n"
                                     "Mario R.,MARIO@rossi.it,111,\n"
                                     "Ion P.,,222,ERP-3\n")
    run = sample("contact", "import", path, "--match", "email", "--on-existing", "update")
    # the second row has no email, so it would be a new contact, but its external id is taken
    assert run.exit_code == 1 and "line 3: external id 'ERP-3' already belongs to contact P3" in run.stderr
    assert "0 created, 1 updated" in run.stderr
    got = contacts(sample)
    assert got["P1"]["phone"] == "111" and got["P1"]["name"] == "Mario R."
    run = sample.ok("contact", "import", path, "--on-existing", "update")  # auto: email, else external id
    assert "0 created, 1 updated, 1 skipped" in run.stderr
    assert contacts(sample)["P3"]["phone"] == "222"


def test_match_external_id_update_and_error_policy(sample, tmp_path):
    sample.ok("contact", "edit", "P3", "--external-id", "ERP-3")
    path = write(tmp_path / "c.csv", "Name,Phone,External ID\nIon P.,222,ERP-3\nNew One,333,ERP-4\n")
    run = sample.ok("contact", "import", path, "--match", "external-id", "--on-existing", "update")
    assert "1 created, 1 updated, 0 skipped" in run.stderr
    assert contacts(sample)["P3"]["phone"] == "222"
    run = sample("contact", "import", path, "--match", "external-id", "--on-existing", "error")
    assert run.exit_code == 1
    assert "line 2: contact P3 already exists (Ion P.)" in run.stderr
    assert "2 failed" in run.stderr


def test_duplicate_email_is_ambiguous(sample, tmp_path):
    sample.ok("contact", "edit", "P2", "--email", "mario@rossi.it")
    path = write(tmp_path / "c.csv", "Name,Email\nMario,mario@rossi.it\n")
    run = sample("contact", "import", path, "--match", "email")
    assert run.exit_code == 1 and "matches 2 contacts (P1, P2)" in run.stderr


def test_bad_values_are_row_errors(cli, tmp_path):
    path = write(tmp_path / "c.csv", "No,Name,Type,Email\n"
                                     "K1,,person,\n"
                                     "K2,Bad Mail,person,nope@\n"
                                     "K3,Robot,robot,\n"
                                     "K4,Ok,person,ok@x.it\n"
                                     f"K5,{'x' * 300},,\n")
    run = cli("contact", "import", path)
    assert run.exit_code == 1
    for line, reason in ((2, "missing name"), (3, "invalid email address 'nope@'"),
                         (4, "invalid contact type 'robot'"), (6, "name is too long")):
        assert f"c.csv, line {line}: {reason}" in run.stderr
    assert sorted(contacts(cli)) == ["K4"]


# -- error file, all or nothing, dry run ------------------------------------------------

def test_error_file_can_be_fixed_and_reimported(cli, tmp_path):
    path = write(tmp_path / "c.csv", "No.;Name;E-mail\nK1;Anna;anna@x.it\nK2;Bruno;bruno-at-x.it\nK3;;c@x.it\n",
                 bom=True)
    failed = tmp_path / "failed.csv"
    assert cli("contact", "import", path, "--errors", failed).exit_code == 1
    text = failed.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "No.;Name;E-mail;reason"
    fixed = text.replace("bruno-at-x.it", "bruno@x.it").replace("K3;;", "K3;Carla;")
    failed.write_text(fixed, encoding="utf-8-sig")
    run = cli.ok("contact", "import", failed)
    assert "2 created" in run.stderr and "reason" not in run.stderr  # its own column is known
    assert sorted(contacts(cli)) == ["K1", "K2", "K3"]


def test_all_or_nothing(cli, tmp_path, snapshot):
    cli.ok("init")
    before = snapshot()
    path = write(tmp_path / "c.csv", "No,Name,Email\nK1,Anna,a@x.it\nK2,Bruno,bad\nK3,Carla,c@x.it\n")
    run = cli("contact", "import", path, "--all-or-nothing", "--batch-size", "1")
    assert run.exit_code == 1 and "nothing imported" in run.stderr
    assert snapshot() == before


def test_dry_run_writes_nothing(cli, tmp_path, snapshot):
    cli.ok("init")
    before = snapshot()
    run = cli("contact", "import", DATA / "contacts_ugly.csv", "--dry-run")
    assert run.exit_code == 0, run.stderr
    assert "dry run" in run.stderr and "5 would be created" in run.stderr
    assert snapshot() == before


def test_file_problems_exit_2(cli, tmp_path):
    for args, expected in ((["missing.csv"], "no such file"),
                           ([write(tmp_path / "c.xls", "x")], ".xls"),
                           ([write(tmp_path / "c.dat", "x")], "--input-format"),
                           ([write(tmp_path / "c.dat", "x"), "--input-format", "pdf"], "invalid input format"),
                           ([write(tmp_path / "c.csv", "Name\nx\n"), "--match", "phone"], "--match"),
                           ([write(tmp_path / "c.csv", "Name\nx\n"), "--on-existing", "merge"], "--on-existing"),
                           ([write(tmp_path / "c.xlsx", "not a zip")], "not a readable .xlsx")):
        run = cli("contact", "import", *args)
        assert run.exit_code == 2, (args, run.stderr)
        assert run.stderr.startswith("ilog: error:") and expected in run.stderr


# -- XLSX -----------------------------------------------------------------------------

def test_xlsx_first_sheet_or_named_sheet(cli, tmp_path):
    path = xlsx(tmp_path / "c.xlsx", {
        "Contatti": [["No.", "Name", "Type", "Phone No.", "Post Code"],
                     ["C1", "Città Nuova S.r.l.", "Company", "=1+1", 100],
                     [],
                     ["P1", "Zażółć Gęślą", "Person", 3912345678, None],
                     ["P2", None, "Person", None, None]],
        "Other": [["Name", "Company No."], ["Ștefan Țăranu", "C1"]],
    })
    run = cli("contact", "import", path)
    assert run.exit_code == 1 and "c.xlsx, row 5: missing name" in run.stderr
    got = contacts(cli)
    assert got["C1"]["phone"] == "=1+1"  # a formula is text, never evaluated
    assert got["C1"]["post_code"] == "100" and got["P1"]["phone"] == "3912345678"
    cli.ok("contact", "import", path, "--sheet", "Other")
    assert any(c["name"] == "Ștefan Țăranu" and c["company_no"] == "C1" for c in contacts(cli).values())
    run = cli("contact", "import", path, "--sheet", "Nope")
    assert run.exit_code == 2 and "Contatti, Other" in run.stderr


# -- XML ------------------------------------------------------------------------------

def test_xml_contacts_layout(cli):
    run = cli("contact", "import", DATA / "contacts.xml")
    assert run.exit_code == 1
    assert "contacts.xml, line 17: invalid email address 'not-an-email'" in run.stderr
    got = contacts(cli)
    assert got["C300"]["name"] == "Zakład Zażółć Gęślą" and got["C300"]["city"] == "Łódź"
    assert got["P302"]["company_no"] == "C300" and got["P302"]["phone"] == "=1+1"
    assert got["P302"]["external_id"] == "ERP-302"


def test_xml_spreadsheet_2003(cli, tmp_path):
    run = cli("contact", "import", DATA / "contacts_spreadsheet2003.xml")  # first sheet: no Name column
    assert run.exit_code == 2 and "no Name column" in run.stderr
    run = cli("contact", "import", DATA / "contacts_spreadsheet2003.xml", "--sheet", "Contacts")
    assert run.exit_code == 1 and "row 5: missing name" in run.stderr
    got = contacts(cli)
    assert got["C400"]["name"] == "Città Nuova S.r.l." and got["C400"]["phone"] == "2"
    assert got["P401"]["company_no"] == "C400" and got["P401"]["phone"] == "=1+1"
    # the same file with another extension, by --input-format
    copy = shutil.copy(DATA / "contacts_spreadsheet2003.xml", tmp_path / "export.dat")
    run = cli("contact", "import", copy, "--input-format", "xml", "--sheet", "Contacts")
    assert "0 created" in run.stderr


@pytest.mark.parametrize("name", ["xml_entity_bomb.xml", "xml_external_entity.xml"])
def test_xml_attacks_are_refused(cli, snapshot, name):
    cli.ok("init")
    before = snapshot()
    run = cli("contact", "import", DATA / name)
    assert run.exit_code == 2
    assert run.stderr.startswith("ilog: error:") and "unsafe XML" in run.stderr
    assert "root:" not in run.stderr
    assert snapshot() == before


def test_malformed_xml_is_refused(cli, tmp_path, snapshot):
    cli.ok("init")
    before = snapshot()
    path = write(tmp_path / "c.xml", "<contacts>\n<contact><no>K1</no><name>A</name></contact>\n<contact>\n")
    run = cli("contact", "import", path)
    assert run.exit_code == 2 and "malformed XML" in run.stderr
    other = write(tmp_path / "o.xml", "<people><person/></people>")
    assert cli("contact", "import", other).exit_code == 2
    assert snapshot() == before


# -- streaming ------------------------------------------------------------------------

def test_many_rows_in_batches(cli, tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["External ID", "Name", "Type", "Company Name", "Email"])
        for n in range(12_000):
            if n % 100 == 0:
                writer.writerow([f"E{n}", f"Company {n // 100}", "company", "", ""])
            else:
                writer.writerow([f"E{n}", f"Person {n}", "person", f"Company {n // 100}", f"p{n}@example.com"])
    run = cli.ok("contact", "import", path, "--batch-size", "5000")
    assert "12000 rows: 12000 created" in run.stderr
    again = cli.ok("contact", "import", path, "--on-existing", "update", "--batch-size", "5000")
    assert "0 created, 0 updated, 12000 skipped" in again.stderr
    persons = cli.ok("contact", "list", "--search", "Person 11999", "-f", "json").json()
    company = cli.ok("contact", "list", "--search", "Company 119", "-f", "json").json()
    assert persons[0]["company_no"] == company[0]["no"]
