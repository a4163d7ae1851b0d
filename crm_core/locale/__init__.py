"""The core's catalogues: one module per language, ``MESSAGES`` maps English to it.

See :mod:`crm_core.i18n`; a module is imported only when its language is used.
"""
