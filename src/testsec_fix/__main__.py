from .cli import main

main(prog_name="testsec-fix")
