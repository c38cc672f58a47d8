from initlint.cli import console_main

console_main()
