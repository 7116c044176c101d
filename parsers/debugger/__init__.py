"""Readers for the output of individual debugger commands found in WinDbg/kd/cdb transcripts."""
