from contactcards.sandbox.server import main

main()
