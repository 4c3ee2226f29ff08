@main struct SightlineCommand { static func main() async { print("sightline") } }
