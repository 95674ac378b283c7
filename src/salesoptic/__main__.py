from salesoptic.cli import main

main()
