"""What the marts become: summary, card, report, exports, the SQL console and analyses."""
