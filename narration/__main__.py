from narration.cli import main

main()
