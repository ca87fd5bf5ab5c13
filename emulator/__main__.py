from emulator.cli.main import main

main()
