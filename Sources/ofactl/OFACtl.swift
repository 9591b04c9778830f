import ArgumentParser
@main struct OFACtl: ParsableCommand {}
