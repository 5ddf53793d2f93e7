import CLI

Tool(single: BLEUCommand.command).main()
