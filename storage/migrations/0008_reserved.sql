-- Reserved: this number belongs to work merged alongside the history (a no-op here).
SELECT 1;
