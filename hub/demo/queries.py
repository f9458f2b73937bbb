"""The example queries ``hub demo`` prints (a test runs each against the demo province)."""

EXAMPLE_QUERIES = {
    "Students of a class, with guardians and the homeroom teacher's certificates": """\
{ students(first: 5, filter: {grade: 6}) { totalCount nodes {
    fullName personalId birthDate identityStatus
    currentClass { name homeroomTeacher { fullName hasValidCertificate
      certificates { provider status validTo } } }
    school { name district { name } }
    guardians { relation verified guardian { fullName phone } } } } }""",
    "Diacritic-insensitive search": """\
{ students(filter: {name: "nguyen van an"}) { totalCount nodes { fullName school { name } } } }""",
    "Signature coverage like the Hà Nội table (seed 003)": """\
{ certificateCoverage(groupBy: [LEVEL, OWNERSHIP]) {
    rows { level ownership staffTotal withValidCertificate ratio }
    total { staffTotal withValidCertificate ratio } } }""",
}
