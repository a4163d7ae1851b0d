"""Import and export of records: CSV and JSON Lines in, the same out.

:mod:`~crm_core.transfer.readers` parses files with line numbers,
:mod:`~crm_core.transfer.columns` maps their columns to fields,
:mod:`~crm_core.transfer.rows` turns one row into a checked candidate,
:mod:`~crm_core.transfer.batch` decides what each row of a batch becomes
(new, duplicate, merge), :mod:`~crm_core.transfer.writer` writes new records
set-based, :mod:`~crm_core.transfer.importer` runs the batches and
:mod:`~crm_core.transfer.report` counts them and writes the errors file;
:mod:`~crm_core.transfer.fastkeys` computes the common phone keys faster.
:mod:`~crm_core.transfer.exporter` writes what the importer reads, one kind at
a time; :mod:`~crm_core.transfer.export_all` writes the whole CRM as a bundle
(files from :mod:`~crm_core.transfer.export_tables` and, for the plugins'
entities, :mod:`~crm_core.transfer.export_plugins`; the spec from
:mod:`~crm_core.transfer.export_spec`), both with the cells of
:mod:`~crm_core.transfer.cells`.
"""
