"""Spreadsheets schools keep their records in, read into the vendor writes' rows (issue 14).

- :mod:`hub.spreadsheets.reading`: an uploaded XLSX or CSV file into its header and
  rows of cells (and the format to answer in);
- :mod:`hub.spreadsheets.layouts`: the columns of each kind of sheet (students, staff,
  guardian links, the gradebook's five kinds), as data: the one home of each kind's
  columns, which both the published templates and the import read; a row's cells
  become the same input objects the GraphQL write mutations take;
- :mod:`hub.spreadsheets.templates`: the published template of each kind (XLSX with a
  "Hướng dẫn" sheet, and CSV);
- :mod:`hub.spreadsheets.results`: the uploaded file given back with a "Kết quả" column.

The rules are the writes' own (:mod:`hub.resolvers.upserts`,
:mod:`hub.resolvers.assessments`): this package only reads cells, and a cell it cannot
read is a row error with a stable code.
"""
